from modules.kms.construct import Kms, KmsProps

__all__ = ["Kms", "KmsProps"]
