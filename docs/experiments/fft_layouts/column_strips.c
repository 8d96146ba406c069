#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(int argc,char**argv){
  int npz=atoi(argv[1]),nc=atoi(argv[2]),nhz=npz/2+1;
  float*a=fftwf_malloc(sizeof(float)*npz*nc),*b=fftwf_malloc(sizeof(float)*npz*nc);
  fftwf_complex*c=fftwf_malloc(sizeof(fftwf_complex)*nhz*nc);
  fftwf_plan cf=fftwf_plan_many_dft_r2c(1,&npz,nc,a,NULL,nc,1,c,NULL,nc,1,FFTW_MEASURE);
  fftwf_plan ci=fftwf_plan_many_dft_c2r(1,&npz,nc,c,NULL,nc,1,b,NULL,nc,1,FFTW_MEASURE);
  fftwf_plan tf=fftwf_plan_many_dft_r2c(1,&npz,nc,a,NULL,1,npz,c,NULL,1,nhz,FFTW_MEASURE);
  fftwf_plan ti=fftwf_plan_many_dft_c2r(1,&npz,nc,c,NULL,1,nhz,b,NULL,1,npz,FFTW_MEASURE);
  /* real-to-real: DCT-free route, r2r R2HC and HC2R contiguous */
  fftwf_r2r_kind k1=FFTW_R2HC,k2=FFTW_HC2R;
  fftwf_plan hf=fftwf_plan_many_r2r(1,&npz,nc,a,NULL,nc,1,b,NULL,nc,1,&k1,FFTW_MEASURE);
  fftwf_plan hi=fftwf_plan_many_r2r(1,&npz,nc,b,NULL,nc,1,a,NULL,nc,1,&k2,FFTW_MEASURE);
  for(int i=0;i<npz*nc;i++)a[i]=i%7;
  int N=2000;double b1=1e9,b2=1e9,b3=1e9;
  for(int r=0;r<5;r++){double t0=now();for(int k=0;k<N;k++){fftwf_execute(cf);fftwf_execute(ci);}double t1=now();
  for(int k=0;k<N;k++){fftwf_execute(tf);fftwf_execute(ti);}double t2=now();
  for(int k=0;k<N;k++){fftwf_execute(hf);fftwf_execute(hi);}double t3=now();
  if((t1-t0)/N<b1)b1=(t1-t0)/N;if((t2-t1)/N<b2)b2=(t2-t1)/N;if((t3-t2)/N<b3)b3=(t3-t2)/N;}
  printf("npz %d ncol %d: interleaved %.1f us, contiguous %.1f us, r2r interleaved %.1f us\n",npz,nc,1e6*b1,1e6*b2,1e6*b3);
}
