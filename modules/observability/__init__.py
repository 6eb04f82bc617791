from modules.observability.construct import Observability, ObservabilityProps

__all__ = ["Observability", "ObservabilityProps"]
