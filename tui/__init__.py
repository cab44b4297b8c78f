"""tocsin.tui"""
