"""Weight-sharing NAS methods as strategies of the fair comparison (search-phase paper Sec. 3.1, 4.2-4.3): each
method one module of ``methods`` on the seam of ``base.WeightSharingMethod``, with its own settings, each a
resumable job per seed (``setup`` for the settings every method shares, ``training`` for one seed, ``jobs`` for
the job function, ``cost`` for counted work). Importing the package registers the shipped methods; a user's method
registers when its module is imported."""

from nasaudit.weight_sharing import methods  # noqa: F401  (registers the shipped methods)
