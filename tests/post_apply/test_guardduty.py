from __future__ import annotations

from tests.post_apply.conftest import expect


def test_the_detector_is_enabled(aws, outputs):
    detector = aws("guardduty").get_detector(DetectorId=outputs["guardduty_detector_id"])
    expect(detector["Status"], "ENABLED", "GuardDuty detector")
