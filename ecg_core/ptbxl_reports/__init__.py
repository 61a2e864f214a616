"""PTB-XL's free-text reports: the language each is written in and the English of the German ones (a phrase
table), for the reader that ingests them and the report questions built from them."""
