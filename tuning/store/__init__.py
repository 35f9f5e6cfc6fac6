"""One database per project: Optuna's tables and ours, behind one storage URL.

* :mod:`._schema` - the tables beside Optuna's, and their schema version;
* :mod:`._migrations` - numbered migrations, each saying which version it leads to;
* :mod:`._store` - :class:`Store` and :func:`open_store`: studies, fits, backend state;
* :mod:`._claims` - claims with leases: several workers on one study, each piece of work once;
* :mod:`._signals` - :func:`uninterrupted`, Ctrl-C held while a write finishes.

The default store and the ``$TUNING_STORAGE`` rule live in :mod:`tuning.vocabulary`
(:func:`default_storage`, re-exported here).
"""

from tuning.store._claims import Leases, fit_item, point_item, process_gone
from tuning.store._migrations import MIGRATIONS, PROCEDURE_MASKS, Migration
from tuning.store._schema import SCHEMA_VERSION, backend_state_table, fits_table, studies_table
from tuning.store._signals import uninterrupted
from tuning.store._store import Store, normalise_url, open_store
from tuning.vocabulary import DEFAULT_STORAGE, default_storage

__all__ = [
    "DEFAULT_STORAGE",
    "Leases",
    "MIGRATIONS",
    "PROCEDURE_MASKS",
    "SCHEMA_VERSION",
    "Migration",
    "Store",
    "backend_state_table",
    "default_storage",
    "fit_item",
    "fits_table",
    "normalise_url",
    "open_store",
    "point_item",
    "process_gone",
    "studies_table",
    "uninterrupted",
]
