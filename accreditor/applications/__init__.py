"""Applications from CABs: initial, extension, reduction, reaccreditation, voluntary
suspension/withdrawal, change of details — drafted and submitted in the portal, reviewed by staff."""
