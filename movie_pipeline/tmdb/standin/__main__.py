"""`python -m movie_pipeline.tmdb.standin`: serve the offline TMDB stand-in until interrupted."""

import argparse
import asyncio
import sys

from movie_pipeline.tmdb.standin.corpus import load_corpus
from movie_pipeline.tmdb.standin.run import running_standin
from movie_pipeline.tmdb.standin.server import StandinOptions


def main(argv: list[str] | None = None) -> None:
    args = argument_parser().parse_args(argv)
    options = StandinOptions(
        latency_s=args.latency_ms,
        rate_limit_per_s=args.rate_limit,
        connection_setup_s=args.connection_setup_ms / 1000,
    )
    try:
        asyncio.run(serve(options, args.port))
    except KeyboardInterrupt:
        pass
    except OSError as error:
        sys.exit(f"Cannot listen on 127.0.0.1:{args.port} ({error.strerror}): choose another port with --port.")


async def serve(options: StandinOptions, port: int) -> None:
    corpus = load_corpus()
    async with running_standin(options, corpus, port) as standin:
        print(
            f"Offline TMDB stand-in (not api.themoviedb.org; {len(corpus)} films from the bundled corpus) "
            f"at {standin.base_url}",
            flush=True,
        )
        await asyncio.Event().wait()


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m movie_pipeline.tmdb.standin",
        description="Serve an offline stand-in for api.themoviedb.org/3 on 127.0.0.1 from the bundled corpus. "
        "It accepts any non-empty api_key or Bearer token.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1; 0 picks a free one (default 8765)")
    parser.add_argument(
        "--latency-ms", type=latency_range_s, default=(0.0, 0.0), metavar="LOW-HIGH",
        help="added latency per request, uniform in milliseconds, e.g. 200-500",
    )
    parser.add_argument(
        "--rate-limit", type=int, default=None, metavar="PER_SECOND",
        help="answer 429 beyond this many requests in any 1-second window",
    )
    parser.add_argument(
        "--connection-setup-ms", type=float, default=0.0, metavar="MS",
        help="extra delay on the first request of each new connection (models TCP + TLS setup)",
    )
    return parser


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
