"""CI workflows that run the gates on every change: GitHub Actions and GitLab CI.

Both install the project, train (the training script registers a new version), store the
contract from the repository, run ``shipway gate run … latest`` writing a JUnit report,
publish the Markdown report (a GitHub job summary; a GitLab merge-request note when a
``GITLAB_TOKEN`` variable is set), and fail the pipeline when a gate fails.
"""

from __future__ import annotations

import json
import re
import shlex

PLAIN = re.compile(r"[A-Za-z0-9_./$][^#:'\"{}\[\],&*!|>%@`\r\n]*")


def _scalar(command: str) -> str:
    """``command`` as a YAML scalar: plain when that is safe, else double-quoted."""
    if PLAIN.fullmatch(command) and command == command.strip():
        return command
    return json.dumps(command)


def _set_contract(model: str, contract: str, sha: str) -> str:
    return _scalar(
        f"shipway contract set {shlex.quote(model)} {shlex.quote(contract)} -m CI-${{{sha}:-local}}"
    )


def _gate_script(model: str, summary: str) -> str:
    m = shlex.quote(model)
    return (
        "status=0\n"
        f"shipway gate run {m} latest --format junit --out gate-report.xml || status=$?\n"
        f"shipway gate report {m} latest --format markdown --out gate-report.md || true\n"
        f"{summary}"
        'exit "$status"\n'
    )


def github_workflow(model: str, train: str, install: str, contract: str) -> str:
    summary = 'if [ -f gate-report.md ]; then cat gate-report.md >> "$GITHUB_STEP_SUMMARY"; fi\n'
    gate = "\n".join("          " + line for line in _gate_script(model, summary).splitlines())
    return f"""\
# Written by `shipway ci init --github`: train, then check the new version against its
# contract. Set the repository secrets SHIPWAY_TRACKING_URI and SHIPWAY_TOKEN (a token of
# a user with the data-scientist role) so reports land on your shipway server.
name: shipway gates
on:
  push:
    branches: [main]
  pull_request:
jobs:
  gates:
    runs-on: ubuntu-latest
    env:
      SHIPWAY_TRACKING_URI: ${{{{ secrets.SHIPWAY_TRACKING_URI }}}}
      SHIPWAY_TOKEN: ${{{{ secrets.SHIPWAY_TOKEN }}}}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install
        run: {_scalar(install)}
      - name: Train
        run: {_scalar(train)}
      - name: Store the contract
        run: {_set_contract(model, contract, "GITHUB_SHA")}
      - name: Run the gates
        run: |
{gate}
      - name: Keep the gate reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: gate-report
          path: |
            gate-report.xml
            gate-report.md
"""


def gitlab_pipeline(model: str, train: str, install: str, contract: str) -> str:
    note = (
        'if [ -n "${CI_MERGE_REQUEST_IID:-}" ] && [ -n "${GITLAB_TOKEN:-}" ] '
        "&& [ -f gate-report.md ]; then\n"
        '  curl --fail --silent --request POST --header "PRIVATE-TOKEN: $GITLAB_TOKEN" '
        '--data-urlencode "body@gate-report.md" '
        '"$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes" '
        "> /dev/null || echo 'could not post the merge-request note'\n"
        "fi\n"
    )
    gate = "\n".join("      " + line for line in _gate_script(model, note).splitlines())
    return f"""\
# Written by `shipway ci init --gitlab`: train, then check the new version against its
# contract. Set the CI/CD variables SHIPWAY_TRACKING_URI and SHIPWAY_TOKEN (masked), and
# GITLAB_TOKEN (api scope) to get the report as a merge-request note.
shipway-gates:
  image: python:3.12
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  script:
    - {_scalar(install)}
    - {_scalar(train)}
    - {_set_contract(model, contract, "CI_COMMIT_SHA")}
    - |
{gate}
  artifacts:
    when: always
    paths: [gate-report.xml, gate-report.md]
    reports:
      junit: gate-report.xml
"""
