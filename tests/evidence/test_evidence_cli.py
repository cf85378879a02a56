"""`hsm-backup-audit evidence` on report files: what it writes, and one line with exit 2
for anything wrong. The CSV neutralises cells a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hsm_backup_audit.cli import main
from hsm_backup_audit.render.csv_export import neutralised

from .documents import finding, report

AT = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def run(argv: list[str]) -> int:
    """main(), or the exit code argparse ends with."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def write(folder: Path, name: str, document: Any) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_folder_of_reports_gives_the_page_and_a_csv_with_formulas_neutralised(
    tmp_path: Path, capsys: Any
) -> None:
    # Given a folder with one report (and its latest.json copy) whose ids start like formulas
    hostile = finding(
        '=HYPERLINK("http://x")',
        cluster_id="+cmd|' /C calc'!A0",
        account_id="@SUM(1)",
        region="-2+3",
    )
    first = report(AT, [hostile])
    write(tmp_path, "reports/a/2026/03/01/run.json", first)
    write(tmp_path, "reports/a/latest.json", first)
    write(tmp_path, "extra/again.json", first)  # the same bytes elsewhere count once
    out, table = tmp_path / "page.html", tmp_path / "t.csv"
    # When
    code = main(
        [
            "evidence",
            str(tmp_path / "reports"),
            str(tmp_path / "extra"),
            "--out",
            str(out),
            "--csv",
            str(table),
        ]
    )
    # Then
    assert code == 0, capsys.readouterr().err
    (row,) = list(csv.DictReader(table.read_text(encoding="utf-8").splitlines()))[0:]
    assert row["backup_id"] == '\'=HYPERLINK("http://x")'
    assert row["cluster_id"] == "'+cmd|' /C calc'!A0"
    assert (row["account_id"], row["region"]) == ("'@SUM(1)", "'-2+3")
    assert row["resolved_at"] == "" and row["days_open"] == "0.0"
    assert out.read_text(encoding="utf-8").count('<th scope="row">2026-03-01T06:00:00Z') == 1


@pytest.mark.parametrize("value", ["=1", "+1", "-1", "@1", "\t1", "\r1"])
def test_each_formula_start_is_neutralised(value: str) -> None:
    assert neutralised(value) == "'" + value


def test_ordinary_values_are_left_alone() -> None:
    assert [neutralised(v) for v in ("backup-x", "1.5", None, "a=b")] == [
        "backup-x",
        "1.5",
        "",
        "a=b",
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--from", "2026-13-01"],
            "argument --from: expected a date YYYY-MM-DD (got '2026-13-01')",
        ),
        (["--from", "2026-03-05", "--to", "2026-03-01"], "--from 2026-03-05 is after --to"),
        (["--from", "2027-01-01"], "no report from 2027-01-01"),
    ],
)
def test_bad_dates_are_one_line_and_exit_2(
    tmp_path: Path, capsys: Any, arguments: list[str], message: str
) -> None:
    write(tmp_path, "r.json", report(AT, []))
    code = run(["evidence", str(tmp_path), "--out", str(tmp_path / "p.html"), *arguments])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not a JSON document"),
        (b'{"schema_version": 1}', "no readable generated_at"),
        (b"[]", "not a hsm-backup-audit report"),
    ],
)
def test_a_file_that_is_no_report_is_named_in_one_line(
    tmp_path: Path, capsys: Any, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    code = main(["evidence", str(bad), "--out", str(tmp_path / "p.html")])
    err = capsys.readouterr().err
    assert code == 2 and f"bad.json: {message}" in err and err.count("\n") == 1
    assert not (tmp_path / "p.html").exists()


def test_a_missing_source_and_a_bad_bucket_are_one_line(tmp_path: Path, capsys: Any) -> None:
    assert main(["evidence", str(tmp_path / "nope.json"), "--out", "x.html"]) == 2
    assert "nope.json: cannot read: No such file or directory" in capsys.readouterr().err
    assert main(["evidence", "s3://Bad_Bucket", "--out", "x.html"]) == 2
    assert "s3://Bad_Bucket: not an S3 bucket name" in capsys.readouterr().err
