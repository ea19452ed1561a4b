"""Config plumbing shared by the entry points: the ``${infrec.root:}`` resolver.

Registering it is an explicit call (:func:`register_resolvers`), made by each entry point before
Hydra composes a config and by tests that compose one; importing this module changes nothing.
"""

from __future__ import annotations

from omegaconf import OmegaConf

from infrec.paths import project_root


def register_resolvers() -> None:
    """``${infrec.root:}``: the project root, so paths hold wherever a command is started."""
    if not OmegaConf.has_resolver("infrec.root"):
        OmegaConf.register_new_resolver("infrec.root", lambda: str(project_root()))
