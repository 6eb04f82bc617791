"""The secret search used by the end-to-end test finds a value wherever it is written."""

from __future__ import annotations

import json
import zipfile

from tests.leaks import leaked

SECRET = 'pa"ss/word-123'


def test_a_secret_is_found_as_written_inside_json_and_inside_a_plan_archive(tmp_path):
    plain, document, plan, clean = (tmp_path / n for n in ("log.txt", "plan.json", "plan.tfplan", "comment.md"))
    plain.write_text(f"password={SECRET}\n")
    document.write_text(json.dumps({"after": {"password": SECRET}}))
    with zipfile.ZipFile(plan, "w") as archive:
        archive.writestr("tfstate", json.dumps({"value": SECRET}))
    clean.write_text("password: (sensitive value)\n")
    found = leaked({"db": SECRET}, [plain, document, plan, clean])
    assert found == [(str(plain), "db"), (str(document), "db"), (f"{plan}!tfstate", "db")]
