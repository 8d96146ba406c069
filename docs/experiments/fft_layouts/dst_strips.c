#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(int argc,char**argv){
  int npz=atoi(argv[1]),nc=atoi(argv[2]),n1=npz-1,nhz=npz/2+1;
  float*a=fftwf_malloc(sizeof(float)*npz*nc),*b=fftwf_malloc(sizeof(float)*npz*nc*2);
  fftwf_r2r_kind k=FFTW_RODFT00;
  fftwf_plan d1=fftwf_plan_many_r2r(1,&n1,nc,a+1,NULL,1,npz,b+1,NULL,1,npz,&k,FFTW_MEASURE);
  fftwf_plan d2=fftwf_plan_many_r2r(1,&n1,nc,b+1,NULL,1,npz,a+1,NULL,1,npz,&k,FFTW_MEASURE);
  fftwf_plan cf=fftwf_plan_many_dft_r2c(1,&npz,nc,a,NULL,1,npz,(fftwf_complex*)b,NULL,1,nhz,FFTW_MEASURE);
  fftwf_plan ci=fftwf_plan_many_dft_c2r(1,&npz,nc,(fftwf_complex*)b,NULL,1,nhz,a,NULL,1,npz,FFTW_MEASURE);
  for(int i=0;i<npz*nc;i++)a[i]=i%7;
  int N=2000;double b1=1e9,b2=1e9;
  for(int r=0;r<5;r++){double t0=now();for(int q=0;q<N;q++){fftwf_execute(d1);fftwf_execute(d2);}double t1=now();
  for(int q=0;q<N;q++){fftwf_execute(cf);fftwf_execute(ci);}double t2=now();
  if((t1-t0)/N<b1)b1=(t1-t0)/N;if((t2-t1)/N<b2)b2=(t2-t1)/N;}
  printf("npz %d ncol %d: DST-I pair %.1f us, r2c pair %.1f us\n",npz,nc,1e6*b1,1e6*b2);
}
