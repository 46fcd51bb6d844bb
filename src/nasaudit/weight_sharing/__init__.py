"""Weight-sharing NAS methods as strategies of the fair comparison (search-phase paper Sec. 3.1, 4.2-4.3): each
method one module on the seam of ``base.WeightSharingMethod`` (``darts``: DARTS with alpha and with PT selection,
``gdas``, ``spos``: SPOS with evolution, ``enas``), each a resumable job per seed (``setup`` for the settings,
``training`` for one seed, ``jobs`` for the job function, ``cost`` for counted work). Importing the package
registers the shipped methods; a user's method registers when its module is imported."""

from nasaudit.weight_sharing import darts, enas, gdas, spos  # noqa: F401  (registers the shipped methods)
