import Dynamics
print(BLAS.dgemmIsOpenBLAS)
