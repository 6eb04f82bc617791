from modules.lms.construct import Lms, LmsProps

__all__ = ["Lms", "LmsProps"]
