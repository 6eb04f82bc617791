from modules.web.construct import Web, WebProps

__all__ = ["Web", "WebProps"]
