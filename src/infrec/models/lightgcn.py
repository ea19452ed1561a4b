"""LightGCN (He et al., 2020): embeddings smoothed over the user-item graph, trained with BPR.

E⁽ˡ⁺¹⁾ = Â E⁽ˡ⁾ with Â = D^-½ A D^-½ on the bipartite graph of the (binarised) support — with
``support_weights`` and a real-valued support, A holds its values as edge weights and D their
sums, and the BPR triples are sampled with the values as probabilities
(:class:`infrec.models.negatives.TrainingPairs`);
the final embedding is the mean of layers 0…L. Propagation is two sparse CSR products per layer
(``jax.experimental.sparse``, the backward pass a product with the stored transpose), the whole
graph every step as in the paper. Loss: BPR on the final embeddings plus
``l2`` · mean squared norm of the layer-0 embeddings of each triple. Scoring and fold-in of users
outside the support are those of MF (:class:`infrec.models.mf.FactorFitted`). Memory: the edge list
and (L + 1) × (users + items) × dim floats per step.
"""

from __future__ import annotations

from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.sparse as sp

from infrec.errors import InfrecError
from infrec.models.base import Monitor
from infrec.models.mf import FactorFitted, bpr_triples_loss
from infrec.models.negatives import TrainingPairs, batched
from infrec.models.training import TrainedModel, run_training
from infrec.sparse import CSR, csr_pair, spmm


def normalised_graph(m: sp.csr_matrix) -> dict[str, CSR]:
    """The user→item block of Â = D^-½ A D^-½ (``ui``) and its transpose (``iu``), as CSR, for a
    0/1 support (A its nonzero pattern)."""
    return weighted_graph(m > 0)


def weighted_graph(w: sp.spmatrix | np.ndarray) -> dict[str, CSR]:
    """:func:`normalised_graph` with edge weights ``w`` (users × items ≥ 0, sparse or dense):
    A = w and D the weighted degrees (row and column sums; a zero sum counts as 1)."""
    a = sp.csr_matrix(w, dtype=np.float64)
    deg_u = np.asarray(a.sum(1)).ravel()
    deg_i = np.asarray(a.sum(0)).ravel()
    deg_u[deg_u <= 0], deg_i[deg_i <= 0] = 1.0, 1.0
    norm = sp.diags(1 / np.sqrt(deg_u)) @ a @ sp.diags(1 / np.sqrt(deg_i))
    ui, iu = csr_pair(norm)
    return {"ui": ui, "iu": iu}


class LightGCNNet(nn.Module):
    n_users: int
    n_items: int
    dim: int
    layers: int

    def setup(self) -> None:
        init = nn.initializers.normal(0.1)
        self.user = nn.Embed(self.n_users, self.dim, embedding_init=init)
        self.item = nn.Embed(self.n_items, self.dim, embedding_init=init)

    def propagate(self, graph: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
        """Final (mean over layers 0…L) user and item embeddings."""
        u, i = self.user.embedding, self.item.embedding
        sum_u, sum_i = u, i
        for _ in range(self.layers):
            u, i = spmm(graph["ui"], graph["iu"], i), spmm(graph["iu"], graph["ui"], u)
            sum_u, sum_i = sum_u + u, sum_i + i
        return sum_u / (self.layers + 1), sum_i / (self.layers + 1)

    def __call__(self, users, pos, neg, graph) -> jax.Array:
        """Per-triple (s_ui, s_uj, ‖e⁰_u‖² + ‖e⁰_i‖² + ‖e⁰_j‖²), stacked on the last axis."""
        fu, fi = self.propagate(graph)
        u, i, j = fu[users], fi[pos], fi[neg]
        u0, i0, j0 = self.user(users), self.item(pos), self.item(neg)
        norms = jnp.sum(u0 * u0 + i0 * i0 + j0 * j0, -1)
        return jnp.stack([jnp.sum(u * i, -1), jnp.sum(u * j, -1), norms], -1)


class LightGCN(TrainedModel):
    name = "lightgcn"

    def __init__(
        self,
        dim: int,
        layers: int,
        l2: float,
        fold_in_l2: float,
        support_weights: bool,
        **train_opts,
    ):
        if int(layers) < 1:
            raise InfrecError(f"model.layers={layers}: LightGCN needs ≥ 1 propagation layer")
        super().__init__(**train_opts)
        self.dim, self.layers = int(dim), int(layers)
        self.l2, self.fold_in_l2 = float(l2), float(fold_in_l2)
        self.support_weights = bool(support_weights)

    def settings(self) -> dict[str, float]:
        return {
            **super().settings(),
            "dim": float(self.dim),
            "layers": float(self.layers),
            "l2": self.l2,
        }

    def fit(
        self, support: sp.csr_matrix | np.ndarray, monitor: Monitor | None
    ) -> tuple[FactorFitted, dict[str, float]]:
        source = TrainingPairs(support, self.support_weights)
        weighted = source.weighted
        graph = weighted_graph(source.weights) if weighted else normalised_graph(source.matrix)
        rng = np.random.default_rng(self.seed)
        net = LightGCNNet(source.shape[0], source.shape[1], self.dim, self.layers)
        one = np.zeros(1, np.int32)
        params = net.init(jax.random.key(self.seed), one, one, one, graph)
        loss = partial(bpr_triples_loss, net, self.l2)

        def epoch(_: int) -> dict[str, np.ndarray]:
            users, pos, neg = source.epoch(1, rng)
            return batched({"user": users, "pos": pos, "neg": neg[:, 0]}, self.batch_size, rng)

        propagate = jax.jit(lambda p: net.apply(p, graph, method=LightGCNNet.propagate))

        def fitted(params) -> FactorFitted:
            fu, fi = propagate(params)
            return FactorFitted(
                np.asarray(fu, self.dtype), np.asarray(fi, self.dtype), self.fold_in_l2
            )

        return run_training(
            self.name,
            params,
            optax.adam(self.lr),
            loss,
            graph,
            epoch,
            fitted,
            self.schedule,
            monitor,
        )
