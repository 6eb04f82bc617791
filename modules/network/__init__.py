from modules.network.construct import Network, NetworkProps

__all__ = ["Network", "NetworkProps"]
