#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(int argc,char**argv){
  int npx=atoi(argv[1]),npz=atoi(argv[2]),nr=60,nc=60,nh=npx/2+1,nhz=npz/2+1;
  float*a=fftwf_malloc(sizeof(float)*npx*npz),*b=fftwf_malloc(sizeof(float)*npx*npz);
  fftwf_complex*c=fftwf_malloc(sizeof(fftwf_complex)*nh*npz);
  for(int i=0;i<npx*npz;i++)a[i]=i%7;
  fftwf_plan f=fftwf_plan_dft_r2c_2d(npz,npx,a,c,FFTW_MEASURE),g=fftwf_plan_dft_c2r_2d(npz,npx,c,b,FFTW_MEASURE);
  fftwf_plan rf=fftwf_plan_many_dft_r2c(1,&npx,nr,a,NULL,1,npx,c,NULL,1,nh,FFTW_MEASURE);
  fftwf_plan ri=fftwf_plan_many_dft_c2r(1,&npx,nr,c,NULL,1,nh,b,NULL,1,npx,FFTW_MEASURE);
  fftwf_plan cf=fftwf_plan_many_dft_r2c(1,&npz,nc,a,NULL,nc,1,c,NULL,nc,1,FFTW_MEASURE);
  fftwf_plan ci=fftwf_plan_many_dft_c2r(1,&npz,nc,c,NULL,nc,1,b,NULL,nc,1,FFTW_MEASURE);
  for(int i=0;i<npx*npz;i++)a[i]=i%7;
  int N=300;double t0=now();for(int k=0;k<N;k++){fftwf_execute(f);fftwf_execute(g);}double t1=now();
  for(int k=0;k<N;k++){fftwf_execute(rf);fftwf_execute(ri);}double t2=now();
  for(int k=0;k<N;k++){fftwf_execute(cf);fftwf_execute(ci);}double t3=now();
  printf("%dx%d pair %.3f ms rows %.3f ms (%.2f) cols %.3f ms (%.2f)\n",npx,npz,1e3*(t1-t0)/N,1e3*(t2-t1)/N,(t2-t1)/(t1-t0),1e3*(t3-t2)/N,(t3-t2)/(t1-t0));
}
