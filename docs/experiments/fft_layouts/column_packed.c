/* Column strips of the PML (docs/experiments/fft_layouts/README.md): the
 * first layout (columns gathered by a transpose into contiguous strips,
 * r2c / c2r, transposed back into the X-region layout) against the packed
 * one that replaced it (rows copied into the X-region layout, pairs of columns read
 * as one complex column, complex FFT of npz points in place, no transposes).
 * Both apply a real symmetric multiplier; errors against a double-precision
 * direct DFT are printed. Usage: ./column_packed npx npz ncol */
#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(int argc,char**argv){
  int npx=atoi(argv[1]), npz=atoi(argv[2]), ncol=atoi(argv[3]); int wxl=ncol/2, wxh=ncol-wxl;
  int nhz=npz/2+1, nc2=(ncol+1)/2, ncp=2*nc2;
  float *f=fftwf_malloc(sizeof(float)*npx*npz); for(int i=0;i<npx*npz;i++) f[i]=(float)rand()/RAND_MAX;
  float *cbuf=fftwf_malloc(sizeof(float)*npz*ncol), *cspec=fftwf_malloc(sizeof(float)*2*nhz*ncol), *cout=fftwf_malloc(sizeof(float)*npz*ncol), *T=fftwf_malloc(sizeof(float)*npz*ncol);
  float *mz=malloc(sizeof(float)*npz); for(int j=0;j<npz;j++) mz[j]=-(float)(j<=npz/2?j*j:(npz-j)*(npz-j))/npz;
  fftwf_plan cf=fftwf_plan_many_dft_r2c(1,&npz,ncol,cbuf,NULL,1,npz,(fftwf_complex*)cspec,NULL,1,nhz,FFTW_MEASURE);
  fftwf_plan ci=fftwf_plan_many_dft_c2r(1,&npz,ncol,(fftwf_complex*)cspec,NULL,1,nhz,cout,NULL,1,npz,FFTW_MEASURE);
  float *P=fftwf_malloc(sizeof(float)*npz*ncp); memset(P,0,sizeof(float)*npz*ncp);
  fftwf_plan pf=fftwf_plan_many_dft(1,&npz,nc2,(fftwf_complex*)P,NULL,nc2,1,(fftwf_complex*)P,NULL,nc2,1,FFTW_FORWARD,FFTW_MEASURE);
  fftwf_plan pb=fftwf_plan_many_dft(1,&npz,nc2,(fftwf_complex*)P,NULL,nc2,1,(fftwf_complex*)P,NULL,nc2,1,FFTW_BACKWARD,FFTW_MEASURE);
  int reps=2000; double ta=1e9, tb=1e9;
  for(int blk=0;blk<15;blk++){
    double t0=now();
    for(int r=0;r<reps;r++){
      for(int iz=0;iz<npz;iz++){const float*row=f+iz*npx; for(int c=0;c<wxl;c++) cbuf[c*npz+iz]=row[c]; for(int c=wxl;c<ncol;c++) cbuf[c*npz+iz]=row[npx-ncol+c];}
      fftwf_execute(cf);
      for(int c=0;c<ncol;c++){float*sp=cspec+c*2*nhz; for(int j=0;j<nhz;j++){sp[2*j]*=mz[j];sp[2*j+1]*=mz[j];}}
      fftwf_execute(ci);
      for(int c=0;c<ncol;c++){const float*co=cout+c*npz; for(int iz=0;iz<npz;iz++) T[iz*ncol+c]=co[iz];}
    }
    double t1=now();
    for(int r=0;r<reps;r++){
      for(int iz=0;iz<npz;iz++){const float*row=f+iz*npx; memcpy(P+iz*ncp,row,wxl*4); memcpy(P+iz*ncp+wxl,row+npx-wxh,wxh*4);}
      fftwf_execute(pf);
      for(int j=0;j<npz;j++){float*sp=P+j*ncp; float m=mz[j]; for(int c=0;c<ncp;c++) sp[c]*=m;}
      fftwf_execute(pb);
    }
    double t2=now();
    if((t1-t0)/reps<ta)ta=(t1-t0)/reps; if((t2-t1)/reps<tb)tb=(t2-t1)/reps;
  }
  /* double reference by a direct sum: out_j = sum_k m_k/npz... via DFT */
  {
    double *re=malloc(sizeof(double)*npz), *im=malloc(sizeof(double)*npz);
    double ea=0, eb=0, ref=0;
    for(int c=0;c<ncol;c++){
      int src = c<wxl ? c : npx-ncol+c;
      for(int k=0;k<npz;k++){double sr=0,si=0; for(int j=0;j<npz;j++){double ph=-2*M_PI*(double)k*j/npz; double v=f[j*npx+src]; sr+=v*cos(ph); si+=v*sin(ph);} re[k]=sr*mz[k]; im[k]=si*mz[k];}
      for(int j=0;j<npz;j++){double v=0; for(int k=0;k<npz;k++){double ph=2*M_PI*(double)k*j/npz; v+=re[k]*cos(ph)-im[k]*sin(ph);}
        double da=fabs(T[j*ncol+c]-v), db=fabs(P[j*ncp+c]-v); if(da>ea)ea=da; if(db>eb)eb=db; if(fabs(v)>ref)ref=fabs(v);}
    }
    printf("errors vs double: current %.2e packed %.2e (max %.2e)\n", ea/ref, eb/ref, ref);
  }
  /* check equal */
  double md=0; for(int iz=0;iz<npz;iz++)for(int c=0;c<ncol;c++){double d=T[iz*ncol+c]-P[iz*ncp+c]; if(d<0)d=-d; if(d>md)md=d;}
  printf("npz %d ncol %d: current %.1f us, packed %.1f us (%.2f), maxdiff %.2e\n",npz,ncol,ta*1e6,tb*1e6,tb/ta,md);
  return 0;
}
