"""Tests of matching, one file per concern, plus shared strategies."""
