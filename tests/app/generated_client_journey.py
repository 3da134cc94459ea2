"""A delegation head's journey through the Python client generated from the OpenAPI document.

Run by tests/app/openapi.rs as `python generated_client_journey.py BASE_URL TOKEN` with the
generated package `pledge_client` on PYTHONPATH; prints one JSON object of what it saw, which
the Rust test checks (and then reads the result back through the API itself).
"""
import importlib
import json
import pkgutil
import sys

import pledge_client.api
from pledge_client import AuthenticatedClient
from pledge_client.api.assessments import (
    get_answer,
    get_assessment,
    list_assessments,
    put_answer,
    submit,
)
from pledge_client.api.frameworks import get_framework
from pledge_client.api.session import me as me_api
from pledge_client.models import (
    AnswerInput,
    AssessmentDocument,
    ErrorBody,
    FrameworkDocument,
    FrameworkMaturityScale,
    FrameworkNumericScale,
    PageAssessmentSummary,
    SubmitResult,
)

base, token = sys.argv[1], sys.argv[2]
summary = {}

# Every generated operation module imports (Python compiles it) and has its call.
operations = set()
for module in pkgutil.walk_packages(pledge_client.api.__path__, "pledge_client.api."):
    if hasattr(importlib.import_module(module.name), "sync_detailed"):
        operations.add(module.name.rsplit(".", 1)[1].rstrip("_"))
summary["operations"] = sorted(operations)

client = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True)
summary["role"] = me_api.sync(client=client).role

# Find my assessment: page through my assessments, two to a page, following the cursor.
mine, cursor, pages = [], None, 0
while True:
    page = list_assessments.sync(client=client, limit=2, **({"cursor": cursor} if cursor else {}))
    assert isinstance(page, PageAssessmentSummary), page
    pages += 1
    mine.extend(page.items)
    cursor = page.next_cursor if isinstance(page.next_cursor, str) else None
    if not cursor:
        break
summary["listed"] = len(mine)
summary["total"] = page.total
summary["pages"] = pages
summary["participants"] = sorted({item.participant_code for item in mine})
current = next(item for item in mine if item.cycle_state == "open")
document = get_assessment.sync(current.id, client=client)
assert isinstance(document, AssessmentDocument), document
summary["assessment"] = str(document.id)
summary["state_before"] = document.state

# The framework says what each goal's scale takes; an unanswered goal gets its top value.
framework = get_framework.sync(document.framework_id, client=client)
assert isinstance(framework, FrameworkDocument), framework
scales = {goal.code: goal.scale for section in framework.sections for goal in section.goals}
summary["goals"] = len(scales)


def top_of(scale):
    if isinstance(scale, FrameworkMaturityScale):
        return str(max(level.level for level in scale.levels))
    if isinstance(scale, FrameworkNumericScale):
        return f"{scale.max_:.{scale.decimals or 0}f}"
    return "yes"


# Save every answer, each with the ETag its own read gave.
saved = answered_now = 0
for line in document.answers:
    read = get_answer.sync_detailed(document.id, line.goal, client=client)
    etag = read.headers["etag"]
    answer = read.parsed
    value = answer.value
    if not value and not answer.not_applicable:
        value = top_of(scales[line.goal])
        answered_now += 1
    body = AnswerInput(
        value=value,
        target=answer.target,
        implementation_status=answer.implementation_status,
        narrative=f"Confirmed through the generated client ({line.goal}).",
        not_applicable=answer.not_applicable,
        na_justification=answer.na_justification,
    )
    written = put_answer.sync_detailed(
        document.id, line.goal, client=client, body=body, if_match=etag
    )
    assert written.status_code == 204, (line.goal, written.status_code, written.content)
    assert written.headers["etag"] != etag, (line.goal, etag)
    if saved == 0:
        # A second writer still holding the first ETag is refused; nothing is overwritten.
        stale = put_answer.sync_detailed(
            document.id,
            line.goal,
            client=client,
            body=AnswerInput(value=value, narrative="A stale write"),
            if_match=etag,
        )
        summary["stale_status"] = stale.status_code
        summary["stale_is_error_body"] = isinstance(stale.parsed, ErrorBody)
    saved += 1
summary["saved"] = saved
summary["answered_now"] = answered_now

result = submit.sync(document.id, client=client)
assert isinstance(result, SubmitResult), result
summary["submitted_now"] = result.submitted_now
summary["revision"] = result.revision
summary["state_after"] = get_assessment.sync(document.id, client=client).state
print(json.dumps(summary))
