"""Entry points, thin wrappers around ``run`` functions: ``infrec-train`` (:mod:`.train`),
``infrec-distill`` (:mod:`.distill`), ``infrec-fetch`` (:mod:`.fetch`), ``infrec-report``
(:mod:`.report`). Nothing in the package imports them."""
