from modules.database.construct import Database, DatabaseProps

__all__ = ["Database", "DatabaseProps"]
