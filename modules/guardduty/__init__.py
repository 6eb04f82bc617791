from modules.guardduty.construct import ThreatDetection, ThreatDetectionProps

__all__ = ["ThreatDetection", "ThreatDetectionProps"]
