"""Sentences and entities, corpus readers and writers, corpus statistics, the demo corpus."""

from nerprobe.data.model import Corpus, Entity, Sentence, Token

__all__ = ["Corpus", "Entity", "Sentence", "Token"]
