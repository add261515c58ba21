"""Sweeps: many runs of one scenario over parameters and seeds, their result store and their analysis.

``twin sweep EXP.yaml`` reads an experiment (:mod:`twin.sweep.experiment`), draws its design
(:mod:`twin.sweep.design`), runs each point on a local process pool or a Dask cluster
(:mod:`twin.sweep.execute`, :mod:`twin.sweep.worker`), keeps one Parquet row per run (:mod:`twin.sweep.store`)
and computes sensitivity indices from SALib (:mod:`twin.sweep.indices`). Nothing here is imported by ``import twin``.
"""
