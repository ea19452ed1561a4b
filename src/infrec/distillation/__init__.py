"""Distill-CF: the estimator and loss (:mod:`.estimator`) and the optimisation (:mod:`.loop`);
:class:`infrec.samplers.distill_cf.DistillCFSampler` wraps them as a cached sampler."""
