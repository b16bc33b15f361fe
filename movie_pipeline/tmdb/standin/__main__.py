"""`python -m movie_pipeline.tmdb.standin`: serve the offline TMDB stand-in until interrupted or terminated.

With --stats-file, what the stand-in saw (StandinStats.summary()) is written there as JSON every second and
once more on SIGTERM or SIGINT, so a load run can read the figures at the server and then stop it.
"""

import argparse
import asyncio
import json
import os
import signal
import sys
from contextlib import suppress
from pathlib import Path

from movie_pipeline.tmdb.standin.corpus import load_corpus
from movie_pipeline.tmdb.standin.run import running_standin
from movie_pipeline.tmdb.standin.server import FAULTS, StandinOptions, StandinStats

STATS_EVERY_S = 1.0


def main(argv: list[str] | None = None) -> None:
    args = argument_parser().parse_args(argv)
    try:
        options = StandinOptions(
            latency_s=args.latency_ms,
            rate_limit_per_s=args.rate_limit,
            connection_setup_s=args.connection_setup_ms / 1000,
            fault_rates=dict(args.fault_rate),
            seed=args.seed,
            decoys=args.decoys,
        )
    except ValueError as error:
        sys.exit(str(error))
    try:
        asyncio.run(serve(options, args.port, args.stats_file))
    except OSError as error:
        sys.exit(f"Cannot listen on 127.0.0.1:{args.port} ({error.strerror}): choose another port with --port.")


async def serve(options: StandinOptions, port: int, stats_file: Path | None) -> None:
    corpus = load_corpus()
    stopped = asyncio.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signal_number, stopped.set)
    async with running_standin(options, corpus, port) as standin:
        print(
            f"Offline TMDB stand-in (not api.themoviedb.org; {len(corpus)} films from the bundled corpus) "
            f"at {standin.base_url}",
            flush=True,
        )
        try:
            while not stopped.is_set():
                if stats_file is not None:
                    write_stats(standin.stats, stats_file)
                with suppress(TimeoutError):
                    await asyncio.wait_for(stopped.wait(), STATS_EVERY_S)
        finally:
            if stats_file is not None:
                write_stats(standin.stats, stats_file)


def write_stats(stats: StandinStats, path: Path) -> None:
    # Replaced whole, so a reader never sees half a file.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(stats.summary()), encoding="utf-8")
    os.replace(partial, path)


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m movie_pipeline.tmdb.standin",
        description="Serve an offline stand-in for api.themoviedb.org/3 on 127.0.0.1 from the bundled corpus. "
        "It accepts any non-empty api_key or Bearer token.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1; 0 picks a free one (default 8765)")
    parser.add_argument(
        "--latency-ms",
        type=latency_range_s,
        default=(0.0, 0.0),
        metavar="LOW-HIGH",
        help="added latency per request, uniform in milliseconds, e.g. 200-500",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        metavar="PER_SECOND",
        help="answer 429 beyond this many requests in any 1-second window",
    )
    parser.add_argument(
        "--connection-setup-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="extra delay on the first request of each new connection (models TCP + TLS setup)",
    )
    parser.add_argument(
        "--fault-rate",
        type=fault_rate,
        action="append",
        default=[],
        metavar="FAULT=P",
        help=f"answer this fault with probability P per request, e.g. 500=0.1 (repeatable; one of {sorted(FAULTS)})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault, latency and decoy draws (default 0)")
    parser.add_argument(
        "--decoys",
        action="store_true",
        help="give some films a same-title short or documentary and date some a year off (seeded by --seed)",
    )
    parser.add_argument(
        "--stats-file",
        type=Path,
        default=None,
        metavar="PATH",
        help="write what the stand-in saw as JSON here every second and on exit",
    )
    return parser


def fault_rate(text: str) -> tuple[str, float]:
    fault, _, rate = text.partition("=")
    try:
        probability = float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not FAULT=P, e.g. 500=0.1") from None
    if fault not in FAULTS or not 0 <= probability <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: FAULT is one of {sorted(FAULTS)} and 0 <= P <= 1")
    return fault, probability


def latency_range_s(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    try:
        bounds = (float(low) / 1000, float(high or low) / 1000)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LOW-HIGH in milliseconds, e.g. 200-500") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"{text!r}: need 0 <= LOW <= HIGH")
    return bounds


if __name__ == "__main__":
    main()
