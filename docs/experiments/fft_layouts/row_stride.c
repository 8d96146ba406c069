/* The Laplacian's two-pass transforms (row r2c, complex column FFTs both
 * ways, row c2r) with the spectral row stride nh = npx/2 + 1 (odd when
 * 4 | npx) against a stride padded to a multiple of pad complex numbers, and
 * FFTW's 2D pair. Usage: ./row_stride npx npz [pad]; docs/experiments/fft_layouts. */
#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(int argc,char**argv){
  int npx=atoi(argv[1]),npz=atoi(argv[2]),nh=npx/2+1, pad=argc>3?atoi(argv[3]):4; int nhp=(nh+pad-1)/pad*pad; unsigned fl=FFTW_MEASURE;
  float*a=fftwf_malloc(sizeof(float)*npx*npz),*b=fftwf_malloc(sizeof(float)*npx*npz);
  fftwf_complex*c=fftwf_malloc(sizeof(fftwf_complex)*nhp*npz);
  fftwf_plan f=fftwf_plan_dft_r2c_2d(npz,npx,a,c,fl),g=fftwf_plan_dft_c2r_2d(npz,npx,c,b,fl);
  fftwf_plan rf=fftwf_plan_many_dft_r2c(1,&npx,npz,a,NULL,1,npx,c,NULL,1,nh,fl);
  fftwf_plan ri=fftwf_plan_many_dft_c2r(1,&npx,npz,c,NULL,1,nh,b,NULL,1,npx,fl);
  fftwf_plan zf=fftwf_plan_many_dft(1,&npz,nh,c,NULL,nh,1,c,NULL,nh,1,FFTW_FORWARD,fl);
  fftwf_plan zb=fftwf_plan_many_dft(1,&npz,nh,c,NULL,nh,1,c,NULL,nh,1,FFTW_BACKWARD,fl);
  fftwf_plan prf=fftwf_plan_many_dft_r2c(1,&npx,npz,a,NULL,1,npx,c,NULL,1,nhp,fl);
  fftwf_plan pri=fftwf_plan_many_dft_c2r(1,&npx,npz,c,NULL,1,nhp,b,NULL,1,npx,fl);
  fftwf_plan pzf=fftwf_plan_many_dft(1,&npz,nhp,c,NULL,nhp,1,c,NULL,nhp,1,FFTW_FORWARD,fl);
  fftwf_plan pzb=fftwf_plan_many_dft(1,&npz,nhp,c,NULL,nhp,1,c,NULL,nhp,1,FFTW_BACKWARD,fl);
  for(int i=0;i<npx*npz;i++)a[i]=(float)(i%7);
  int N=100;double b1=1e9,b2=1e9,b3=1e9, tz=1e9, tpz=1e9;
  for(int rep=0;rep<9;rep++){
    double t0=now();for(int k=0;k<N;k++){fftwf_execute(f);fftwf_execute(g);}double t1=now();
    for(int k=0;k<N;k++){fftwf_execute(rf);fftwf_execute(zf);fftwf_execute(zb);fftwf_execute(ri);}double t2=now();
    for(int k=0;k<N;k++){fftwf_execute(prf);fftwf_execute(pzf);fftwf_execute(pzb);fftwf_execute(pri);}double t3=now();
    for(int k=0;k<N;k++){fftwf_execute(zf);fftwf_execute(zb);}double t4=now();
    for(int k=0;k<N;k++){fftwf_execute(pzf);fftwf_execute(pzb);}double t5=now();
    if((t1-t0)/N<b1)b1=(t1-t0)/N; if((t2-t1)/N<b2)b2=(t2-t1)/N; if((t3-t2)/N<b3)b3=(t3-t2)/N;
    if((t4-t3)/N<tz)tz=(t4-t3)/N; if((t5-t4)/N<tpz)tpz=(t5-t4)/N;}
  printf("%dx%d nh %d -> %d: 2D pair %.3f ms, two-pass %.3f (%.2f), padded two-pass %.3f (%.2f); column pair %.3f vs padded %.3f\n",npx,npz,nh,nhp,1e3*b1,1e3*b2,b2/b1,1e3*b3,b3/b1,1e3*tz,1e3*tpz);
}
