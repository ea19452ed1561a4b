"""``infrec-report <runs dir> [--kind …] [--extend <report dir>]``: a study's table and curves
from a folder of runs."""

from __future__ import annotations

import argparse

from infrec.config import exit_cleanly
from infrec.errors import InfrecError, fail
from infrec.paths import user_error
from infrec.reports import KINDS, make_report
from infrec.track import WANDB_MODES


def main() -> None:
    parser = argparse.ArgumentParser(description="Aggregate a study's runs into tables and plots")
    parser.add_argument("runs", help="folder holding run dirs (metrics.json + config.json)")
    parser.add_argument("--kind", choices=sorted(KINDS), default="fraction_curve")
    parser.add_argument("--out", help="output folder (default: <runs>/report)")
    parser.add_argument(
        "--extend",
        metavar="REPORT_DIR",
        help="an earlier report of the same kind: its rows of each (model, sampler, "
        "budget) absent from <runs> are kept",
    )
    parser.add_argument("--logger", choices=["none", "wandb"], default="none")
    parser.add_argument("--project", default="infrec")
    parser.add_argument("--group", default=None)
    parser.add_argument("--mode", default="offline", choices=WANDB_MODES)
    args = parser.parse_args()
    logger = {"name": args.logger, "project": args.project, "group": args.group, "mode": args.mode}
    try:
        with exit_cleanly():
            make_report(args.runs, args.out, args.kind, logger, args.extend)
    except InfrecError as e:
        raise fail(e) from None
    except OSError as e:
        raise fail(user_error(e, "reading or writing")) from None


if __name__ == "__main__":
    main()
