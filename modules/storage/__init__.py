from modules.storage.construct import Storage, StorageProps

__all__ = ["Storage", "StorageProps"]
