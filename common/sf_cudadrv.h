/* sf_cudadrv: placeholder, being written. */
#ifndef sf_cudadrv_H
#define sf_cudadrv_H
#endif
