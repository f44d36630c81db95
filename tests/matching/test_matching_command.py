"""``command.run`` end to end on files; the argparse wiring."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from matching.command import EXIT_INPUT, EXIT_OK, add_arguments, main, run
from matching.csvio import OFFER_FIELDS, write_instance
from matching.synthetic import district


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    return write_instance(district(25, 200, 40, seed=4), tmp_path / "in")


@pytest.mark.parametrize("solver", ["cpsat", "greedy"])
def test_run_writes_json(
    files: tuple[Path, Path, Path], tmp_path: Path, solver: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "result.json"
    assert run(*files, solver=solver, time_limit=5.0, out=out) == EXIT_OK
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["solver"] == solver
    assert {"assignments", "unmatched", "objective", "optimal", "gap", "seconds"} <= set(document)
    assert set(document["objective"]) >= {"priority_served", "pairs_kept"}
    assert all(set(a) >= {"request_id", "offer_id"} for a in document["assignments"])
    assert all(set(u) >= {"request_id", "reason"} for u in document["unmatched"])
    assert len(document["assignments"]) + len(document["unmatched"]) == 200
    if solver == "cpsat":
        assert document["optimal"] is True and document["gap"] == 0.0
    else:
        assert document["optimal"] is False and document["gap"] is None
    printed = capsys.readouterr().out
    assert f"{solver}: served {len(document['assignments'])}/200" in printed
    assert str(out) in printed


def test_run_without_pairs_and_json_to_stdout(
    files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(files[0], files[1], None, "greedy", 1.0, None) == EXIT_OK
    captured = capsys.readouterr()
    assert json.loads(captured.out)["objective"]["pairs_kept"] == 0
    assert "greedy: served" in captured.err


def test_run_bad_input_returns_2(
    files: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "offers.csv"
    bad.write_text(
        ",".join(OFFER_FIELDS) + "\nO1,L1,A,t1,math,3,mon-09:00,2,1200\n"
        "O2,L1,B,t2,math,3,mon-09:00,0,1200\n",
        encoding="utf-8",
    )
    out = tmp_path / "result.json"
    assert run(bad, files[1], files[2], out=out) == EXIT_INPUT
    err = capsys.readouterr().err
    assert f"{bad} line 3, field capacity: must be an integer >= 1" in err
    assert not out.exists()


def test_run_rejects_unknown_solver_and_time_limit(files: tuple[Path, Path, Path]) -> None:
    assert run(*files, solver="simplex") == EXIT_INPUT
    assert run(*files, time_limit=0) == EXIT_INPUT


def test_argparse_wiring(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="dualclass match")
    add_arguments(parser)
    out = tmp_path / "r.json"
    argv = [
        "--offers",
        str(files[0]),
        "--requests",
        str(files[1]),
        "--pairs",
        str(files[2]),
        "--solver",
        "greedy",
        "--time-limit",
        "2",
        "--out",
        str(out),
    ]
    args = parser.parse_args(argv)
    assert args.time_limit == 2.0 and args.pairs == files[2]
    assert main(argv) == EXIT_OK
    assert out.exists()
    with pytest.raises(SystemExit):
        parser.parse_args(["--offers", "a", "--requests", "b", "--out", "c", "--solver", "x"])
