/*  sf_campaign: campaign records <-> search requests. */
#include "coordinator/sf_campaign.h"

#include <stdio.h>
#include <string.h>

void
sf_campaign_set_request (sf_store_campaign_t *c, const sf_request_t *r)
{
    sf_store_search_t *s = &c->search;
    snprintf (c->strategy, sizeof c->strategy, "%s", sf_request_strategy_name (r->strategy));
    s->max_configs = r->max_configs;
    s->proxy_top = r->proxy_top;
    s->top_k = r->top_k;
    s->seed = r->seed;
    s->tol = r->tol;
    s->templates = r->templates == SF_REQUEST_DEFAULT_TEMPLATES ? 0 : r->templates;
    s->max_code_fmas = r->max_code_fmas;
    s->run_timeout_s = r->run_timeout_s;
    s->u_split = r->u_split;
    s->d_union = r->d_union;
    s->no_d_slab = !r->d_slab;
    s->tier = r->tier;
    s->layout = r->layout;
    s->budget_s = r->budget_s;
    s->l2 = (uint32_t) r->l2;
}

void
sf_campaign_request (const sf_store_campaign_t *c, sf_request_t *r)
{
    const sf_store_search_t *s = &c->search;
    sf_request_init (r);
    int strategy = sf_request_strategy_parse (c->strategy);
    r->strategy = strategy < 0 ? SF_REQUEST_PROXY : (sf_request_strategy) strategy;
    r->max_configs = s->max_configs;
    r->proxy_top = s->proxy_top;
    r->top_k = s->top_k;
    r->seed = s->seed;
    r->tol = s->tol;
    r->templates = s->templates ? s->templates : SF_REQUEST_DEFAULT_TEMPLATES;
    r->max_code_fmas = s->max_code_fmas;
    r->run_timeout_s = s->run_timeout_s;
    r->u_split = s->u_split;
    r->d_union = s->d_union;
    r->d_slab = !s->no_d_slab;
    r->tier = s->tier;
    r->layout = s->layout;
    r->budget_s = s->budget_s;
    r->l2 = s->l2 <= SF_REQUEST_L2_COLD ? (sf_request_l2) s->l2 : SF_REQUEST_L2_AUTO;
}

bool
sf_campaign_same_search (const sf_store_campaign_t *a, const sf_store_campaign_t *b)
{
    sf_request_t ra, rb;
    char ta[SF_REQUEST_TEXT_MAX], tb[SF_REQUEST_TEXT_MAX];
    sf_campaign_request (a, &ra);
    sf_campaign_request (b, &rb);
    /* rank with another model version (U/D's or T's) is another search (0:
       it fell back, or T had none) */
    /* the L2 mode as asked: auto is resolved per layer, so auto and an
       explicit mode are not the same search */
    return strcmp (a->strategy, b->strategy) == 0 && a->search.model_version == b->search.model_version
        && a->search.tmodel_version == b->search.tmodel_version
        && a->search.l2 == b->search.l2
        && strcmp (sf_request_canonical (&ra, ta, sizeof ta), sf_request_canonical (&rb, tb, sizeof tb)) == 0;
}
