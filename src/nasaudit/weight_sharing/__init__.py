"""Weight-sharing NAS methods as strategies of the fair comparison (search-phase paper Sec. 3.1, 4.2-4.3):
DARTS with alpha and with PT selection, GDAS, SPOS with evolution and ENAS, each a resumable job per seed
(``setup`` for the methods and their settings, ``training`` for one seed, ``jobs`` for the job function)."""
