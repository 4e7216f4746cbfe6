"""Delivery: everything after an accepted Submit, and nothing before it.

accepted call -> ``queue/`` (the store's calls table, memory, or Redis Streams) -> the dial
worker (``queue/worker.py``) -> ``fence.py`` (at most one dial per attempt; the call record,
charge and status report in one transaction) -> ``dialer/`` (simulated carrier, SIP trunk,
upstream relay) speaking ``audio/`` prompts -> ``notify/`` (status push from the outbox).
``sweep.py`` expires and ends orphans; ``runtime.py`` builds and runs the pieces from
``config.py``'s settings (in ``voiceotp serve``'s process, or alone in ``voiceotp
dialer``). Imports the store below it, never the gateway above it. See docs/delivery.md.
"""
