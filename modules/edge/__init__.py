from modules.edge.construct import Edge, EdgeProps

__all__ = ["Edge", "EdgeProps"]
