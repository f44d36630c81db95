"""Tests of hub.matching, one file per concern, plus shared strategies."""
