"""python -m codegen: compile specs/ into src/inferlink/_generated/ (--check: compare instead of writing)."""

from __future__ import annotations

import argparse
import sys

from codegen.spec import SpecError, load_providers, load_tasks


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--lint", action="store_true", help="only load and check the specs")
    mode.add_argument("--check", action="store_true", help="fail with a diff when the committed code differs")
    args = parser.parse_args()
    try:
        tasks = load_tasks()
        load_providers()
        if args.lint:
            print(f"{len(tasks)} task specs OK")
            return 0
        from codegen.build import build_main

        return build_main(check=args.check)
    except SpecError as error:
        print(f"spec error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
