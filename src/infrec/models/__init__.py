"""Recommenders. Each fits on any support matrix and scores users from their own history."""

from infrec.models.base import Fitted, Model, build_model

__all__ = ["Fitted", "Model", "build_model"]
