"""The pieces of the scoring benchmarks (``scoring_batch.py``, ``scoring_online.py``).

Imported as ``batch`` (the benchmark scripts' own folder is first on ``sys.path``):

* ``database``: the benchmark database — its URL and as-of date, creating, migrating,
  pointing Django at it, the "loaded" marker, emptying the score and log tables;
* ``loading``: generating the synthetic enterprises, consents and records and
  writing them with ``COPY`` from forked processes;
* ``model``: the champion model (reused, or trained and promoted);
* ``stages``: the stage timer wrapped around the scoring service's functions;
* ``passes``: what is timed — the features refresh, end to end in one process or
  on a Celery worker, raw xgboost on the same matrix;
* ``workers``: the Celery worker the benchmark starts (through
  ``devtools.celery_worker``) and the broker it shares with it;
* ``timing``: pairing each end-to-end pass with a raw pass, the ratios and medians,
  and the printed report.
"""
