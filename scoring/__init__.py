"""tocsin.scoring"""
