"""Importing this module registers every generator architecture with the registry."""
