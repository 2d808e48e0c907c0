"""The workspace store: every table, migration and SQL statement of the project, and nothing else.

`Workspace` (workspace.py) opens the database, migrates it and holds the transactions; each other module is the
SQL of one part of it, as functions of the workspace returning frozen rows:

    files      files and pages as the machine read them        lines      effective lines (the view)
    decisions  human decisions on lines and on pairs          review     the review queue's reads
    leases     review leases and the volunteers' action log    accounts   accounts, sessions, devices, failed logins
    batches    the review app's upload batches                 migrations every schema change, numbered
    ids        LineId, the one name of a line                  forms      the named forms kept in the workspace
    voters     voter-file versions, voters and their keys      matches    lines matched to voters; match verdicts
    roster     the stored roster: signers' clusters and block keys, scored pairs, what waits to be folded in

No module outside this package imports sqlite3, runs SQL or touches `Workspace.db`
(tests/pipeline/test_store_boundary.py).
"""

from pipeline.store.base import DECIDABLE_FIELDS, WorkspaceError, now
from pipeline.store.files import StoredFile, StoredPage
from pipeline.store.ids import LineId
from pipeline.store.lines import EffectiveLine
from pipeline.store.migrations import MIGRATIONS, SCHEMA_VERSION
from pipeline.store.workspace import CROPS, DATABASE, Workspace, ensure_review_schema, occurrence_id

__all__ = ["CROPS", "DATABASE", "DECIDABLE_FIELDS", "MIGRATIONS", "SCHEMA_VERSION", "EffectiveLine", "LineId",
           "StoredFile", "StoredPage", "Workspace", "WorkspaceError", "ensure_review_schema", "now", "occurrence_id"]
