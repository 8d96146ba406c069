#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(int argc,char**argv){
  int npx=atoi(argv[1]),npz=atoi(argv[2]),nh=npx/2+1; unsigned fl = argc>3?FFTW_ESTIMATE:FFTW_MEASURE;
  float*a=fftwf_malloc(sizeof(float)*npx*npz),*b=fftwf_malloc(sizeof(float)*npx*npz);
  fftwf_complex*c=fftwf_malloc(sizeof(fftwf_complex)*nh*npz);
  fftwf_plan f=fftwf_plan_dft_r2c_2d(npz,npx,a,c,fl),g=fftwf_plan_dft_c2r_2d(npz,npx,c,b,fl);
  fftwf_plan rf=fftwf_plan_many_dft_r2c(1,&npx,npz,a,NULL,1,npx,c,NULL,1,nh,fl);
  fftwf_plan ri=fftwf_plan_many_dft_c2r(1,&npx,npz,c,NULL,1,nh,b,NULL,1,npx,fl);
  fftwf_plan zf=fftwf_plan_many_dft(1,&npz,nh,c,NULL,nh,1,c,NULL,nh,1,FFTW_FORWARD,fl);
  fftwf_plan zb=fftwf_plan_many_dft(1,&npz,nh,c,NULL,nh,1,c,NULL,nh,1,FFTW_BACKWARD,fl);
  for(int i=0;i<npx*npz;i++)a[i]=i%7;
  int N=200;double best1=1e9,best2=1e9;
  for(int rep=0;rep<5;rep++){
  double t0=now();for(int k=0;k<N;k++){fftwf_execute(f);fftwf_execute(g);}double t1=now();
  for(int k=0;k<N;k++){fftwf_execute(rf);fftwf_execute(zf);fftwf_execute(zb);fftwf_execute(ri);}double t2=now();
  if((t1-t0)/N<best1)best1=(t1-t0)/N; if((t2-t1)/N<best2)best2=(t2-t1)/N;}
  printf("%dx%d 2D pair %.3f ms, two-pass %.3f ms (%.2f)\n",npx,npz,1e3*best1,1e3*best2,best2/best1);
}
