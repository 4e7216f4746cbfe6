"""Batch sending: many (mobile, code) items, at a bounded pace, never sent twice.

::

    journal = create_journal("run.journal", pairs_to_rows([("13800138000", None)]))
    async with AsyncClient() as client:
        summary = await run_batch(journal, client, BatchOptions(concurrency=20, rate=50))

Voice notices go through the same engine and journal (``NoticeBatch``, ``NoticeSender``,
``read_notice_rows``). See docs/batch.md for the journal's states and the resume rules.
"""

from voiceotp.client.batch.engine import (
    BatchEngine,
    BatchOptions,
    BatchSummary,
    Sender,
    SendReportLike,
    StopReason,
    UnknownPolicy,
)
from voiceotp.client.batch.inputs import InputError, InputFormat, open_source, read_rows
from voiceotp.client.batch.items import InputRow, Item, Reject, State, generate_code
from voiceotp.client.batch.journal import Journal, JournalError
from voiceotp.client.batch.memory import MemoryReport, MemorySender
from voiceotp.client.batch.notices import NoticeBatch, NoticeSender, notice_of, read_notice_rows
from voiceotp.client.batch.records import Outcome, Record
from voiceotp.client.batch.run import (
    create_journal,
    pairs_to_rows,
    run_batch,
    run_batch_sync,
    validated,
)

__all__ = [
    "BatchEngine",
    "BatchOptions",
    "BatchSummary",
    "InputError",
    "InputFormat",
    "InputRow",
    "Item",
    "Journal",
    "JournalError",
    "MemoryReport",
    "MemorySender",
    "NoticeBatch",
    "NoticeSender",
    "Outcome",
    "Record",
    "Reject",
    "SendReportLike",
    "Sender",
    "State",
    "StopReason",
    "UnknownPolicy",
    "create_journal",
    "generate_code",
    "notice_of",
    "open_source",
    "pairs_to_rows",
    "read_notice_rows",
    "read_rows",
    "run_batch",
    "run_batch_sync",
    "validated",
]
