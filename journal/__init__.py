"""tocsin.journal"""
