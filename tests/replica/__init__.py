"""Offline replica of the remote sites the project crawls.

No machine here (nor CI) reaches the CT Judiciary, the State Library or BatchData, so
tests, the offline demo and benchmarks run against this stand-in. Its worth is its
fidelity to the real pages (SITES.md and the captures): a spider that works here must
work there. See tests/replica/README.md.
"""
