/*
 * obsq warm PocketSphinx engine: loads the model once, then decodes any number of jobs read from
 * stdin, one after the other, exactly as `pocketsphinx_continuous -infile` decodes one file.
 *
 * Input (stdin), repeated: frames of a 4-byte little-endian length and that many bytes of 16 kHz
 * s16le mono PCM; a frame of length 0 ends the job.
 * Output (stdout): "#obsq-ready" once the model is loaded; per job, the utterances in
 * pocketsphinx_continuous format (hypothesis line, then word lines with -time yes), then
 * "#obsq-end <n>" with the job's sequence number (1, 2, ...). Flushed after every utterance.
 *
 * No state crosses a job boundary: each job starts a new stream (frame counter and noise
 * statistics reset, so times are job-relative) and restores the live CMN estimate saved right
 * after the model was loaded, which pocketsphinx_continuous would start from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pocketsphinx.h>
#include <sphinxbase/cmn.h>
#include <sphinxbase/feat.h>
#include <sphinxbase/err.h>

static const arg_t args_def[] = {
    POCKETSPHINX_OPTIONS,
    {"-time", ARG_BOOLEAN, "no", "Print word times."},
    CMDLN_EMPTY_OPTION
};

/* pocketsphinx_continuous reads 2048 samples per fread and checks the VAD after each block:
 * the same block size keeps utterance boundaries, and so results, identical. */
#define BLOCK 2048

static ps_decoder_t *ps;
static cmd_ln_t *config;
static int print_times;

static void print_word_times(void)
{
    int frame_rate = cmd_ln_int32_r(config, "-frate");
    ps_seg_t *iter = ps_seg_iter(ps);
    while (iter != NULL) {
        int32 sf, ef, pprob;
        float conf;
        ps_seg_frames(iter, &sf, &ef);
        pprob = ps_seg_prob(iter, NULL, NULL, NULL);
        conf = logmath_exp(ps_get_logmath(ps), pprob);
        printf("%s %.3f %.3f %f\n", ps_seg_word(iter), ((float)sf / frame_rate), ((float)ef / frame_rate), conf);
        iter = ps_seg_next(iter);
    }
}

static void print_utt(void)
{
    const char *hyp = ps_get_hyp(ps, NULL);
    if (hyp != NULL)
        printf("%s\n", hyp);
    if (print_times)
        print_word_times();
}

static int read_full(void *buf, size_t n)
{
    return fread(buf, 1, n, stdin) == n;
}

int main(int argc, char *argv[])
{
    int16 block[BLOCK];
    size_t filled = 0; /* bytes in block */
    unsigned char hdr[4];
    unsigned long job = 0;
    int in_job = 0;
    uint8 utt_started = FALSE;
    cmn_t *cmn;
    mfcc_t *mean0, *sum0;
    int32 nframe0;

    config = cmd_ln_parse_r(NULL, args_def, argc, argv, TRUE);
    if (config == NULL)
        return 1;
    ps_default_search_args(config);
    ps = ps_init(config);
    if (ps == NULL)
        return 1;
    print_times = cmd_ln_boolean_r(config, "-time");
    cmn = ps_get_feat(ps)->cmn_struct;
    mean0 = malloc(cmn->veclen * sizeof(mfcc_t));
    sum0 = malloc(cmn->veclen * sizeof(mfcc_t));
    memcpy(mean0, cmn->cmn_mean, cmn->veclen * sizeof(mfcc_t));
    memcpy(sum0, cmn->sum, cmn->veclen * sizeof(mfcc_t));
    nframe0 = cmn->nframe;
    printf("#obsq-ready\n");
    fflush(stdout);

    while (read_full(hdr, 4)) {
        uint32 len = hdr[0] | (hdr[1] << 8) | (hdr[2] << 16) | ((uint32)hdr[3] << 24);
        if (!in_job) {
            memcpy(cmn->cmn_mean, mean0, cmn->veclen * sizeof(mfcc_t));
            memcpy(cmn->sum, sum0, cmn->veclen * sizeof(mfcc_t));
            cmn->nframe = nframe0;
            ps_start_stream(ps);
            ps_start_utt(ps);
            utt_started = FALSE;
            filled = 0;
            in_job = 1;
        }
        while (len > 0) {
            size_t take = sizeof(block) - filled;
            if (take > len)
                take = len;
            if (!read_full((char *)block + filled, take))
                return 2; /* input ended inside a frame */
            filled += take;
            len -= take;
            if (filled == sizeof(block)) {
                ps_process_raw(ps, block, BLOCK, FALSE, FALSE);
                filled = 0;
                uint8 in_speech = ps_get_in_speech(ps);
                if (in_speech && !utt_started)
                    utt_started = TRUE;
                if (!in_speech && utt_started) {
                    ps_end_utt(ps);
                    print_utt();
                    fflush(stdout);
                    ps_start_utt(ps);
                    utt_started = FALSE;
                }
            }
        }
        if (hdr[0] == 0 && hdr[1] == 0 && hdr[2] == 0 && hdr[3] == 0) {
            /* End of job: the tail block, as pocketsphinx_continuous's last short fread. */
            if (filled / 2 > 0) {
                ps_process_raw(ps, block, filled / 2, FALSE, FALSE);
                if (ps_get_in_speech(ps) && !utt_started)
                    utt_started = TRUE;
                if (!ps_get_in_speech(ps) && utt_started) {
                    ps_end_utt(ps);
                    print_utt();
                    ps_start_utt(ps);
                    utt_started = FALSE;
                }
            }
            ps_end_utt(ps);
            if (utt_started)
                print_utt();
            printf("#obsq-end %lu\n", ++job);
            fflush(stdout);
            in_job = 0;
        }
    }
    ps_free(ps);
    cmd_ln_free_r(config);
    return 0;
}
